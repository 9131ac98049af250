{
  "variables": { "with_blas%": 1, "with_openslide%": 0 },
  "targets": [],
  "conditions": [
    ["with_blas==1", {
      "targets": [
        {
          "target_name": "milkit_blas",
          "sources": ["src/blas.c", "src/gemm.c", "src/bf16.c", "src/peak.c", "src/elementwise.c", "src/rows.c",
                      "src/depthwise.c", "src/pinv.c"],
          "include_dirs": ["/usr/include/x86_64-linux-gnu/openblas-pthread",
                           "/usr/include/aarch64-linux-gnu/openblas-pthread", "/usr/include/openblas"],
          "libraries": ["-lopenblas", "-lm", "-lpthread"],
          "cflags": ["-O3", "-std=c11", "-fno-trapping-math", "-fno-math-errno"],
          "defines": ["NAPI_VERSION=8"]
        }
      ]
    }],
    ["with_openslide==1", {
      "targets": [
        {
          "target_name": "milkit_openslide",
          "sources": ["src/openslide.c"],
          "include_dirs": ["/usr/include/openslide", "/usr/local/include/openslide"],
          "libraries": ["-lopenslide"],
          "cflags": ["-O2", "-std=c11"],
          "defines": ["NAPI_VERSION=8"]
        }
      ]
    }]
  ]
}
