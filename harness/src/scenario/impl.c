/*
 * The registered `impl:` implementations (faultline/impl.h): a few tables
 * a program hands over at start, searched in the order they came.
 */
#include <stdio.h>
#include <string.h>

#include "faultline/error.h"
#include "faultline/impl.h"

static const struct fl_impl *tables[FL_IMPL_MAX_TABLES];
static size_t ntables;

int
fl_impl_register(const struct fl_impl *table)
{
	for (size_t t = 0; t < ntables; t++)
		if (tables[t] == table)
			return 0;
	for (const struct fl_impl *e = table; e->name != NULL; e++)
		if (fl_impl_find(e->name) != NULL)
			return FL_EEXIST;
	if (ntables == FL_IMPL_MAX_TABLES)
		return FL_ELIMIT;
	tables[ntables++] = table;
	return 0;
}

const struct fl_impl *
fl_impl_at(size_t i)
{
	for (size_t t = 0; t < ntables; t++)
		for (const struct fl_impl *e = tables[t]; e->name != NULL; e++)
			if (i-- == 0)
				return e;
	return NULL;
}

const struct fl_impl *
fl_impl_find(const char *name)
{
	const struct fl_impl *e;

	for (size_t i = 0; name != NULL && (e = fl_impl_at(i)) != NULL; i++)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

char *
fl_impl_names(unsigned kinds, char *buf, size_t len)
{
	const struct fl_impl *f;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; (f = fl_impl_at(i)) != NULL; i++) {
		size_t used = strlen(buf);

		if (kinds & (1u << f->kind))
			snprintf(buf + used, len - used, "%s%s", buf[0] ? ", " : "", f->name);
	}
	return buf;
}

int
fl_impl_check(const char *name, unsigned kinds, const char *what, char *why, size_t len)
{
	const struct fl_impl *f = fl_impl_find(name);
	char known[256];

	if (f != NULL && (kinds & (1u << f->kind)))
		return 0;
	snprintf(why, len, "unknown %s implementation '%s' (one of: %s)", what, name,
	         fl_impl_names(kinds, known, sizeof(known)));
	return -1;
}
