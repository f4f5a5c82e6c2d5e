/*
 * LD_PRELOAD shim for the busted specs under AddressSanitizer
 * (.ci/hardening.sh): makes dlclose() do nothing.
 *
 * lua_close() unloads every C module that require() loaded, and with them
 * libraries such as libcrypto. Once a library is unmapped, blocks that only
 * its static data pointed to look leaked to LeakSanitizer, and their stacks
 * show "<unknown module>". Keeping every library loaded until the process
 * exits gives LeakSanitizer the same view as for a program that links them,
 * so it still reports memory that nothing points to.
 */
int dlclose(void *handle);

int dlclose(void *handle)
{
	(void)handle;
	return 0;
}
