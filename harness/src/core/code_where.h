/*
 * Naming a code address for a person: "fn+0xoff (object)" when a dynamic
 * symbol holds it (its size says it does), else "object+0xoff" (a
 * library's internal function: `addr2line -f -e OBJECT 0xOFF` with its
 * debug symbols names it).  No allocation: usable in a signal handler
 * (dladdr1 reads the loader's tables) and under the allocation hook's
 * lock.
 */
#ifndef FL_HARNESS_CODE_WHERE_H
#define FL_HARNESS_CODE_WHERE_H

#include <stddef.h>
#include <stdint.h>

/* Writes pc's name into buf (len bytes, always terminated; "0x..." when
 * no object holds it); returns the length written. */
size_t fli_code_where(char *buf, size_t len, uintptr_t pc);

#endif
