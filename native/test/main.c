/* Runs every C unit suite (framer, response policy, connection state
 * machine and its clocks) under ASan/UBSan and prints one summary line. */
#include "check.h"

int passed, failed;

int main(void)
{
	if (run_http_tests())
		return 2;
	run_policy_tests();
	run_conn_tests();
	run_clock_tests();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
