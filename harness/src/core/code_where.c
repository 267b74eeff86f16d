/* Naming a code address (code_where.h). */
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "core/code_where.h"

size_t
fli_code_where(char *buf, size_t len, uintptr_t pc)
{
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	const char *obj;
	int n;

	if (len == 0)
		return 0;
	if (pc == 0 || dladdr1((void *)pc, &info, (void **)&sym, RTLD_DL_SYMENT) == 0 ||
	    info.dli_fname == NULL) {
		n = snprintf(buf, len, "%#lx", (unsigned long)pc);
		return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
	}
	obj = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
	if (info.dli_sname != NULL && sym != NULL && pc >= (uintptr_t)info.dli_saddr &&
	    pc - (uintptr_t)info.dli_saddr < sym->st_size)
		n = snprintf(buf, len, "%s+%#lx (%s)", info.dli_sname,
		             (unsigned long)(pc - (uintptr_t)info.dli_saddr), obj);
	else
		n = snprintf(buf, len, "%s+%#lx", obj,
		             (unsigned long)(pc - (uintptr_t)info.dli_fbase));
	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}
