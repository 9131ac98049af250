{
  "targets": [
    {
      "target_name": "milkit_blas",
      "sources": ["src/blas.c", "src/elementwise.c", "src/rows.c", "src/depthwise.c", "src/pinv.c"],
      "include_dirs": ["/usr/include/x86_64-linux-gnu/openblas-pthread", "/usr/include/aarch64-linux-gnu/openblas-pthread", "/usr/include/openblas"],
      "libraries": ["-lopenblas", "-lm"],
      "cflags": ["-O3", "-std=c11", "-fno-trapping-math", "-fno-math-errno"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
