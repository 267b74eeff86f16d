/*
 * The naming rule's planted violations, for symbols_test.py's self-test:
 * a global with neither prefix, and an fl_ function no public header
 * declares.  Exactly 2 problems; fli_ and static names are fine.
 */
int planted_global;

int fl_planted_unlisted(void);
int fli_planted_internal(void);

int
fl_planted_unlisted(void)
{
	return planted_global;
}

int
fli_planted_internal(void)
{
	return 1;
}
