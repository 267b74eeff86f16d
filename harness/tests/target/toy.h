/*
 * The toy target's functions (toy.c).  alloc_hook_test.c never links the
 * toy: it dlopens it and finds these with dlsym, typed from here.
 */
#ifndef TOY_H
#define TOY_H

#include <stddef.h>

#define TOY_API __attribute__((visibility("default")))

typedef void *(*toy_malloc_fn)(size_t);

TOY_API void *toy_malloc(size_t n);
TOY_API void *toy_calloc(size_t a, size_t b);
TOY_API void *toy_realloc(void *p, size_t n);
TOY_API void *toy_reallocarray(void *p, size_t a, size_t b);
TOY_API char *toy_strdup(const char *s);
TOY_API char *toy_strndup(const char *s, size_t n);
TOY_API int toy_posix_memalign(void **p, size_t align, size_t n);
TOY_API void *toy_aligned_alloc(size_t align, size_t n);
TOY_API void *toy_memalign(size_t align, size_t n);
TOY_API void toy_free(void *p);
/* malloc through a pointer in writable data, and through one in RELRO */
TOY_API void *toy_malloc_data(size_t n);
TOY_API void *toy_malloc_relro(size_t n);
/* malloc's address as the toy's code sees it (from its GOT) */
TOY_API toy_malloc_fn toy_malloc_address(void);
/* a planted leak of n bytes, and its end */
TOY_API void toy_leak(size_t n);
TOY_API void toy_unleak(void);
/* iters rounds of malloc, realloc and free, then keep blocks of 8 bytes
 * in kept[]; *calls: allocation calls made; returns the NULLs seen */
TOY_API long toy_loop(long iters, int keep, void **kept, long *calls);

#endif
