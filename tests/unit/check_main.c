/* Runs every unit suite; exit status 0 only when all checks pass. */
#include <stdlib.h>

#include "suites.h"

/* Build the runner from every module's suite and run it. */
int
main(void)
{
	SRunner *runner;
	int failed;

	runner = srunner_create(config_suite());
	srunner_add_suite(runner, devices_suite());
	srunner_add_suite(runner, credentials_suite());
	srunner_add_suite(runner, log_suite());
	srunner_add_suite(runner, mailboxes_suite());
	srunner_add_suite(runner, refusals_suite());
	srunner_add_suite(runner, side_suite());
	srunner_add_suite(runner, login_suite());
	srunner_add_suite(runner, sasl_suite());
	srunner_add_suite(runner, secret_suite());
	srunner_add_suite(runner, oauth_suite());
	srunner_add_suite(runner, oauth_wire_suite());
	srunner_add_suite(runner, explain_suite());
	srunner_add_suite(runner, verifier_suite());
	srunner_add_suite(runner, smtp_parse_suite());
	srunner_add_suite(runner, body_scan_suite());
	srunner_add_suite(runner, pop3_parse_suite());
	srunner_add_suite(runner, imap_parse_suite());
	srunner_add_suite(runner, proxy_parse_suite());
	srunner_add_suite(runner, evidence_suite());
	srunner_add_suite(runner, observe_suite());
	srunner_add_suite(runner, report_suite());
	srunner_add_suite(runner, tls_hello_parse_suite());
	srunner_add_suite(runner, notice_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
