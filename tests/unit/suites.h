/* One Check suite per module; the runner in check_main.c runs them all. */
#ifndef TLSRELAY_SUITES_H
#define TLSRELAY_SUITES_H

#include <check.h>

Suite	*config_suite(void);
Suite	*devices_suite(void);
Suite	*credentials_suite(void);
Suite	*log_suite(void);
Suite	*mailboxes_suite(void);
Suite	*refusals_suite(void);
Suite	*side_suite(void);
Suite	*login_suite(void);
Suite	*sasl_suite(void);
Suite	*secret_suite(void);
Suite	*oauth_suite(void);
Suite	*oauth_wire_suite(void);
Suite	*explain_suite(void);
Suite	*verifier_suite(void);
Suite	*smtp_parse_suite(void);
Suite	*body_scan_suite(void);
Suite	*pop3_parse_suite(void);
Suite	*imap_parse_suite(void);
Suite	*proxy_parse_suite(void);
Suite	*evidence_suite(void);
Suite	*observe_suite(void);
Suite	*report_suite(void);
Suite	*tls_hello_parse_suite(void);
Suite	*notice_suite(void);

#endif
