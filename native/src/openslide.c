/*
 * milkit_openslide: whole-slide images through OpenSlide (libopenslide), for src/slides/openslide.ts.
 *
 * A slide handle is a JS external around `Handle`. Region reads run on libuv's thread pool
 * (OpenSlide handles are safe to read from several threads), so decoding JPEG tiles overlaps with
 * the JS work on the previous batch. `close` during a pending read is deferred until the last read
 * finishes. OpenSlide's errors are sticky: once a read fails, the handle only returns transparent
 * pixels, so every read checks `openslide_get_error` and rejects instead of handing back black pixels.
 *
 * Pixels come back as RGBA bytes (OpenSlide gives premultiplied ARGB words): outside the slide,
 * alpha is 0.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <node_api.h>
#include <openslide.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, NULL, "milkit_openslide: N-API failed"); \
      return NULL;                                                   \
    }                                                                \
  } while (0)

typedef struct {
  openslide_t *osr;
  int pending; /* reads in flight (touched on the JS thread only) */
  int closed;
} Handle;

static void release(Handle *h) {
  if (h->osr && h->pending == 0 && h->closed) {
    openslide_close(h->osr);
    h->osr = NULL;
  }
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Handle *h = data;
  h->closed = 1;
  /* A finalised handle has no pending reads: each read holds a reference to its external. */
  release(h);
  free(h);
}

static napi_value throw_msg(napi_env env, const char *prefix, const char *detail) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s%s", prefix, detail ? detail : "");
  napi_throw_error(env, NULL, buf);
  return NULL;
}

static Handle *get_handle(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "milkit_openslide: expected a slide handle");
    return NULL;
  }
  Handle *h = data;
  if (h->closed || !h->osr) {
    napi_throw_error(env, NULL, "milkit_openslide: the slide is closed");
    return NULL;
  }
  return h;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "milkit_openslide: expected a string");
    return 0;
  }
  if (len >= size - 1) {
    napi_throw_range_error(env, NULL, "milkit_openslide: string too long");
    return 0;
  }
  return 1;
}

static napi_value str(napi_env env, const char *s) {
  napi_value v;
  if (!s) {
    napi_get_null(env, &v);
    return v;
  }
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

/* Premultiplied ARGB words → straight RGBA bytes, in place-safe order (dest may alias src). */
static void argb_to_rgba(const uint32_t *src, uint8_t *dest, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t p = src[i];
    uint32_t a = p >> 24, r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
    if (a != 255 && a != 0) {
      r = (r * 255 + a / 2) / a;
      g = (g * 255 + a / 2) / a;
      b = (b * 255 + a / 2) / a;
    }
    dest[4 * i] = (uint8_t)r;
    dest[4 * i + 1] = (uint8_t)g;
    dest[4 * i + 2] = (uint8_t)b;
    dest[4 * i + 3] = (uint8_t)a;
  }
}

/* version() → the libopenslide version string. */
static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  return str(env, openslide_get_version());
}

/* detectVendor(path) → vendor name, or null when OpenSlide does not recognise the file. */
static napi_value detect_vendor(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_string(env, argv[0], path, sizeof path)) return NULL;
  return str(env, openslide_detect_vendor(path));
}

/* open(path) → handle; null when the format is not recognised; throws OpenSlide's error otherwise. */
static napi_value open_slide(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  char path[4096];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_string(env, argv[0], path, sizeof path)) return NULL;
  openslide_t *osr = openslide_open(path);
  if (!osr) {
    napi_get_null(env, &out);
    return out;
  }
  const char *err = openslide_get_error(osr);
  if (err) {
    napi_value r = throw_msg(env, "", err);
    openslide_close(osr);
    return r;
  }
  Handle *h = calloc(1, sizeof *h);
  if (!h) {
    openslide_close(osr);
    return throw_msg(env, "milkit_openslide: ", "out of memory");
  }
  h->osr = osr;
  CHECK(napi_create_external(env, h, finalize_handle, NULL, &out));
  return out;
}

/* close(handle): frees OpenSlide's state now, or after the last pending read. */
static napi_value close_slide(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_external(env, argv[0], &data) != napi_ok || !data) return NULL;
  Handle *h = data;
  h->closed = 1;
  release(h);
  return NULL;
}

/* describe(handle) → { levels: [{width, height, downsample}], properties: {...}, associated: {name: [w, h]} } */
static napi_value describe(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, levels, props, assoc;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_msg(env, "milkit_openslide.describe: ", "needs a handle");
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  openslide_t *osr = h->osr;
  CHECK(napi_create_object(env, &out));
  int32_t count = openslide_get_level_count(osr);
  CHECK(napi_create_array_with_length(env, count < 0 ? 0 : (size_t)count, &levels));
  for (int32_t l = 0; l < count; l++) {
    int64_t w = 0, hgt = 0;
    openslide_get_level_dimensions(osr, l, &w, &hgt);
    napi_value lv;
    CHECK(napi_create_object(env, &lv));
    CHECK(napi_set_named_property(env, lv, "width", num(env, (double)w)));
    CHECK(napi_set_named_property(env, lv, "height", num(env, (double)hgt)));
    CHECK(napi_set_named_property(env, lv, "downsample", num(env, openslide_get_level_downsample(osr, l))));
    CHECK(napi_set_element(env, levels, (uint32_t)l, lv));
  }
  CHECK(napi_create_object(env, &props));
  const char *const *names = openslide_get_property_names(osr);
  for (size_t i = 0; names && names[i]; i++)
    CHECK(napi_set_named_property(env, props, names[i], str(env, openslide_get_property_value(osr, names[i]))));
  CHECK(napi_create_object(env, &assoc));
  const char *const *images = openslide_get_associated_image_names(osr);
  for (size_t i = 0; images && images[i]; i++) {
    int64_t w = 0, hgt = 0;
    openslide_get_associated_image_dimensions(osr, images[i], &w, &hgt);
    napi_value dims;
    CHECK(napi_create_array_with_length(env, 2, &dims));
    CHECK(napi_set_element(env, dims, 0, num(env, (double)w)));
    CHECK(napi_set_element(env, dims, 1, num(env, (double)hgt)));
    CHECK(napi_set_named_property(env, assoc, images[i], dims));
  }
  const char *err = openslide_get_error(osr);
  if (err) return throw_msg(env, "", err);
  CHECK(napi_set_named_property(env, out, "levels", levels));
  CHECK(napi_set_named_property(env, out, "properties", props));
  CHECK(napi_set_named_property(env, out, "associated", assoc));
  return out;
}

/* readAssociated(handle, name) → RGBA Buffer (dimensions from describe). Small images: synchronous. */
static napi_value read_associated(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], buf;
  char name[256];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_msg(env, "milkit_openslide.readAssociated: ", "needs a handle and a name");
  Handle *h = get_handle(env, argv[0]);
  if (!h || !get_string(env, argv[1], name, sizeof name)) return NULL;
  int64_t w = -1, hgt = -1;
  openslide_get_associated_image_dimensions(h->osr, name, &w, &hgt);
  if (w < 0 || hgt < 0) return throw_msg(env, "no associated image named ", name);
  size_t n = (size_t)w * (size_t)hgt;
  void *data = NULL;
  CHECK(napi_create_buffer(env, n * 4, &data, &buf));
  openslide_read_associated_image(h->osr, name, (uint32_t *)data);
  const char *err = openslide_get_error(h->osr);
  if (err) return throw_msg(env, "", err);
  argb_to_rgba((const uint32_t *)data, (uint8_t *)data, n);
  return buf;
}

typedef struct {
  Handle *h;
  napi_ref handle_ref;
  napi_deferred deferred;
  napi_async_work work;
  int32_t level;
  int64_t x, y, w, hgt;
  uint32_t *pixels;
  char *error;
} ReadJob;

static void read_execute(napi_env env, void *data) {
  (void)env;
  ReadJob *job = data;
  size_t n = (size_t)job->w * (size_t)job->hgt;
  job->pixels = malloc(n * 4 > 0 ? n * 4 : 4);
  if (!job->pixels) {
    job->error = strdup("out of memory");
    return;
  }
  openslide_read_region(job->h->osr, job->pixels, job->x, job->y, job->level, job->w, job->hgt);
  const char *err = openslide_get_error(job->h->osr);
  if (err) job->error = strdup(err);
  else argb_to_rgba(job->pixels, (uint8_t *)job->pixels, n);
}

static void read_complete(napi_env env, napi_status status, void *data) {
  ReadJob *job = data;
  napi_value result;
  job->h->pending--;
  if (status != napi_ok || job->error) {
    napi_value msg, e;
    napi_create_string_utf8(env, job->error ? job->error : "read cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &e);
    napi_reject_deferred(env, job->deferred, e);
    free(job->pixels);
  } else {
    size_t bytes = (size_t)job->w * (size_t)job->hgt * 4;
    /* Copied into a Buffer V8 accounts for: an external buffer's memory is invisible to the
     * garbage collector, which then lets thousands of freed patches pile up (RSS in the GBs). */
    void *copy = NULL;
    if (napi_create_buffer_copy(env, bytes, job->pixels, &copy, &result) != napi_ok) {
      napi_value msg, e;
      napi_create_string_utf8(env, "cannot create the pixel buffer", NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, NULL, msg, &e);
      napi_reject_deferred(env, job->deferred, e);
    } else {
      napi_resolve_deferred(env, job->deferred, result);
    }
    free(job->pixels);
  }
  release(job->h);
  napi_delete_reference(env, job->handle_ref);
  napi_delete_async_work(env, job->work);
  free(job->error);
  free(job);
}

/* readRegion(handle, level, x, y, w, h) → Promise<Buffer> of w*h RGBA pixels; x, y in level-0 pixels. */
static napi_value read_region(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], promise, name;
  double a[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return throw_msg(env, "milkit_openslide.readRegion: ", "needs (handle, level, x, y, w, h)");
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  for (int i = 0; i < 5; i++)
    if (napi_get_value_double(env, argv[i + 1], &a[i]) != napi_ok)
      return throw_msg(env, "milkit_openslide.readRegion: ", "level, x, y, w, h must be numbers");
  if (a[3] < 1 || a[4] < 1 || a[3] * a[4] > 1 << 28 || a[0] < 0 || a[0] >= openslide_get_level_count(h->osr))
    return throw_msg(env, "milkit_openslide.readRegion: ", "bad level or size");
  ReadJob *job = calloc(1, sizeof *job);
  if (!job) return throw_msg(env, "milkit_openslide: ", "out of memory");
  job->h = h;
  job->level = (int32_t)a[0];
  job->x = (int64_t)a[1];
  job->y = (int64_t)a[2];
  job->w = (int64_t)a[3];
  job->hgt = (int64_t)a[4];
  CHECK(napi_create_reference(env, argv[0], 1, &job->handle_ref));
  CHECK(napi_create_promise(env, &job->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "milkit_openslide.readRegion", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, read_execute, read_complete, job, &job->work));
  h->pending++;
  CHECK(napi_queue_async_work(env, job->work));
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"version", NULL, version, NULL, NULL, NULL, napi_default, NULL},
      {"detectVendor", NULL, detect_vendor, NULL, NULL, NULL, napi_default, NULL},
      {"open", NULL, open_slide, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_slide, NULL, NULL, NULL, napi_default, NULL},
      {"describe", NULL, describe, NULL, NULL, NULL, napi_default, NULL},
      {"readAssociated", NULL, read_associated, NULL, NULL, NULL, napi_default, NULL},
      {"readRegion", NULL, read_region, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
