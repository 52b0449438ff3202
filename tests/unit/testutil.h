/* Fixtures shared by the unit suites: time zone, stderr capture, a key
 * with its self-signed certificate, and configuration texts. */
#ifndef TLSRELAY_TESTUTIL_H
#define TLSRELAY_TESTUTIL_H

#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Check fixture: run the test in UTC, remembering the TZ it started with. */
void	tz_setup(void);
/* Check fixture: restore the TZ the test started with. */
void	tz_teardown(void);
/* Switch the local time zone (localtime_r needs tzset to notice). */
void	tz_set(const char *tz);

/* Redirect stderr to a temporary file; returns the saved descriptor. */
int	stderr_capture_start(FILE **tmp);
/* Restore stderr and return what was written to it (caller frees). */
char	*stderr_capture_end(FILE *tmp, int saved);

/* A key and a self-signed certificate for 127.0.0.1, and their files. */
struct cred {
	EVP_PKEY	*key;
	X509		*cert;
	char		 dir[64];
	char		*cert_path;
	char		*key_path;
};

/* A 2048-bit RSA key and a self-signed certificate for 127.0.0.1. */
void	cred_make(struct cred *c);
/* Write the certificate and key as PEM files in a new directory. */
void	cred_write(struct cred *c);
/* Free the key and certificate and remove their directory. */
void	cred_free(struct cred *c);

/* A main configuration text with one SMTP listener and upstream, its
 * devices file "relay.devices", and an oauth2 section to add to it. */
#define TEXT_MAIN	\
	"server_name = \"relay.example.org\";\n" \
	"devices_file = \"relay.devices\";\n" \
	"listeners = ( { name = \"smtp\"; protocol = \"smtp\"; " \
	"address = \"0.0.0.0\"; port = 25; } );\n" \
	"upstreams = { smtp = { host = \"smtp.office365.com\"; " \
	"port = 587; tls = \"starttls\"; }; };\n"
#define TEXT_OAUTH2	\
	"oauth2 = { tenant = \"example.org\"; client_id = \"app\"; " \
	"client_secret_file = \"/etc/tlsrelay/secret\"; };\n"

#endif
