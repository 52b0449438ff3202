/* Exchange Online's refusals explained: one table of the replies it gives,
 * the reply the device gets instead, and one log line for the admin. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "explain.h"
#include "log.h"
#include "msgid.h"
#include "util.h"

#define EXPLAIN_REPLY_MAX	512	/* escaped reply bytes in the log */
#define EXPLAIN_TOLD		"; the relay's administrator has been told"
/* POP3 and IMAP logins refused for want of the app's rights. */
#define EXPLAIN_LOGON_MEANING	"Exchange Online refused the login with the " \
	"mailbox's app token (AuthFailed:LogonDenied): the app's service " \
	"principal is missing or has no FullAccess on the mailbox."
#define EXPLAIN_LOGON_ACTION(proto) "Grant " proto ".AccessAsApp with " \
	"admin consent, run \"New-ServicePrincipal -AppId <app id> -ObjectId " \
	"<enterprise application object id>\" and \"Add-MailboxPermission " \
	"-Identity <mailbox> -User <service principal id> -AccessRights " \
	"FullAccess\"."

static bool	explain_match(const char *reply, const char *match);
static bool	explain_match_at(const char *reply, const char *at,
		    const char *match);

static const char *const source_names[] = {
	[EXPLAIN_SMTP] = "smtp",
	[EXPLAIN_POP3] = "pop3",
	[EXPLAIN_IMAP] = "imap",
	[EXPLAIN_TOKEN] = "token",
};

/*
 * The replies Exchange Online and its token endpoint give. An entry is
 * temporary when the fix is on the admin's side and the device's own
 * request was fine: its mail goes, or its login works, once the admin has
 * fixed the tenant, the app or the connector, so the device is told to
 * retry (SMTP 454 4.7.0 in the login phase, 451 4.7.0 or 450 4.7.1 for
 * MAIL and RCPT; POP3 [SYS/TEMP]; IMAP [UNAVAILABLE]). An entry is
 * permanent when the device's own request is wrong and no retry can help.
 * Each device reply names Exchange Online's code so that whoever reads it
 * at the device can quote it.
 */
static const struct explanation explain_entries[] = {
	{ EXPLAIN_SMTP, "4.7.66", "legacy_tls",
	    "Exchange Online refused a connection that used TLS 1.0 or 1.1; "
	    "it takes TLS 1.2 or later only.",
	    "Find what re-encrypts the relay's connection with an old TLS "
	    "version on the way (a TLS-inspecting proxy or firewall) and test "
	    "the path with \"openssl s_client -connect smtp.office365.com:587 "
	    "-starttls smtp -tls1_2\".",
	    true, "454 4.7.0 Exchange Online refused the relay's TLS version "
	    "(4.7.66)" EXPLAIN_TOLD, false },
	{ EXPLAIN_SMTP, "5.7.139", "smtp_auth_disabled",
	    "SMTP AUTH (client submission) is disabled for the tenant or for "
	    "the mailbox the relay logs in as, or a policy such as Security "
	    "Defaults blocks it; the reply's text says which.",
	    "Enable it for the mailbox with \"Set-CASMailbox -Identity "
	    "<mailbox> -SmtpClientAuthenticationDisabled $false\" (needed with "
	    "OAuth2 too; the tenant's switch is Set-TransportConfig "
	    "-SmtpClientAuthenticationDisabled).",
	    true, "454 4.7.0 Exchange Online refused the relay's login "
	    "(5.7.139)" EXPLAIN_TOLD, false },
	{ EXPLAIN_SMTP, "5.7.30", "basic_auth_unsupported",
	    "Exchange Online no longer accepts a user name and password "
	    "(Basic authentication) for client submission in this tenant.",
	    "Give the device auth = \"oauth2\" (or \"relay\") and a mailbox in "
	    "the devices file, set up the oauth2 section of tlsrelayd.conf for "
	    "an app with SMTP.SendAsApp, and run \"systemctl reload "
	    "tlsrelayd\".",
	    true, "454 4.7.0 Exchange Online refused the relay's login "
	    "(5.7.30)" EXPLAIN_TOLD, false },
	{ EXPLAIN_SMTP, "5.7.3", "app_permission_missing",
	    "Exchange Online refused the app token: the app's service "
	    "principal is not registered in Exchange Online or has no right "
	    "on the mailbox.",
	    "Grant SMTP.SendAsApp with admin consent, run \"New-ServicePrincipal "
	    "-AppId <app id> -ObjectId <enterprise application object id>\" "
	    "and \"Add-MailboxPermission -Identity <mailbox> -User <service "
	    "principal id> -AccessRights FullAccess\".",
	    true, "454 4.7.0 Exchange Online refused the relay's login "
	    "(5.7.3)" EXPLAIN_TOLD, true },
	{ EXPLAIN_SMTP, "5.7.57", "not_authenticated",
	    "Exchange Online refused mail from a session that had not logged "
	    "in: client submission needs SMTP AUTH before MAIL FROM.",
	    "Give the device auth = \"oauth2\" or \"relay\" and a mailbox in the "
	    "devices file so that the relay logs in upstream, and check that "
	    "upstreams.smtp is smtp.office365.com port 587.",
	    true, "451 4.7.0 Exchange Online refused mail from an "
	    "unauthenticated session (5.7.57)" EXPLAIN_TOLD, false },
	{ EXPLAIN_SMTP, "5.7.68", "direct_send_rejected",
	    "The tenant rejects Direct Send (RejectDirectSend is on), so "
	    "unauthenticated mail to its MX endpoint is refused.",
	    "Point upstreams.smtp at smtp.office365.com port 587 with auth = "
	    "\"oauth2\" or \"relay\" for the device, or create an inbound "
	    "connector for the relay's public address with "
	    "New-InboundConnector.",
	    true, "451 4.7.0 Exchange Online refused Direct Send "
	    "(5.7.68)" EXPLAIN_TOLD, false },
	{ EXPLAIN_SMTP, "5.7.60", "send_as_denied",
	    "The mailbox the relay logs in as has no Send As right for the "
	    "sender address the device used.",
	    "Make the device send from the mailbox's own address, or grant "
	    "the right with \"Add-RecipientPermission -Identity <sender> "
	    "-Trustee <mailbox> -AccessRights SendAs\" and list the address in "
	    "the device's senders.",
	    false, "550 5.7.60 Exchange Online refused this sender address: "
	    "the relay's mailbox may not send as it", false },
	{ EXPLAIN_SMTP, "5.7.64", "relay_denied",
	    "No inbound connector of the tenant matched the relay's public "
	    "address or certificate, so Exchange Online will not relay its "
	    "mail.",
	    "Check the connector with Get-InboundConnector: SenderIPAddresses "
	    "must hold the relay's public address or TlsSenderCertificateName "
	    "a name of its certificate, and the sender's domain must be an "
	    "accepted domain.",
	    true, "450 4.7.1 Exchange Online denied relaying "
	    "(5.7.64)" EXPLAIN_TOLD, false },
	{ EXPLAIN_IMAP, "AUTHENTICATE failed", "imap_logon_denied",
	    EXPLAIN_LOGON_MEANING,
	    EXPLAIN_LOGON_ACTION("IMAP"),
	    true, "[UNAVAILABLE] Exchange Online refused the relay's login "
	    "(AUTHENTICATE failed)" EXPLAIN_TOLD, true },
	{ EXPLAIN_IMAP, "AuthFailed:LogonDenied", "imap_logon_denied",
	    EXPLAIN_LOGON_MEANING,
	    EXPLAIN_LOGON_ACTION("IMAP"),
	    true, "[UNAVAILABLE] Exchange Online refused the relay's login "
	    "(AuthFailed:LogonDenied)" EXPLAIN_TOLD, true },
	{ EXPLAIN_POP3, "Authentication failure", "pop3_logon_denied",
	    EXPLAIN_LOGON_MEANING,
	    EXPLAIN_LOGON_ACTION("POP"),
	    true, "[SYS/TEMP] Exchange Online refused the relay's login "
	    "(Authentication failure)" EXPLAIN_TOLD, true },
	{ EXPLAIN_TOKEN, "AADSTS700016", "token_unknown_app",
	    "The token endpoint knows no application with the relay's "
	    "client_id in this tenant.",
	    "Copy the app registration's Application (client) ID into "
	    "oauth2.client_id, check that oauth2.tenant is the tenant the app "
	    "is registered in, and run \"systemctl reload tlsrelayd\".",
	    true, NULL, false },
	{ EXPLAIN_TOKEN, "AADSTS7000215", "token_invalid_secret",
	    "The client secret the relay sent is not a secret of the app; "
	    "often the secret's ID was copied instead of its value.",
	    "Write the secret's Value (not its Secret ID) from Entra ID, App "
	    "registrations, Certificates & secrets into the file named by "
	    "oauth2.client_secret_file and run \"systemctl reload "
	    "tlsrelayd\".",
	    true, NULL, false },
	{ EXPLAIN_TOKEN, "AADSTS7000222", "token_expired_secret",
	    "The app's client secret has expired.",
	    "Add a new client secret in Entra ID, App registrations, "
	    "Certificates & secrets, write its Value into the file named by "
	    "oauth2.client_secret_file and run \"systemctl reload tlsrelayd\" "
	    "(or switch to a certificate, oauth2.certificate and oauth2.key).",
	    true, NULL, false },
	{ EXPLAIN_TOKEN, "AADSTS700027", "token_bad_assertion",
	    "The token endpoint refused the relay's signed certificate "
	    "assertion: the certificate is not registered on the app, has "
	    "expired, or does not match the key.",
	    "Upload the certificate named by oauth2.certificate in Entra ID, "
	    "App registrations, Certificates & secrets, check that oauth2.key "
	    "is its key and that it has not expired, and run \"systemctl "
	    "reload tlsrelayd\".",
	    true, NULL, false },
	{ EXPLAIN_TOKEN, "AADSTS90002", "token_unknown_tenant",
	    "The tenant named in the token URL does not exist.",
	    "Set oauth2.tenant to the tenant ID or its primary domain (such as "
	    "contoso.onmicrosoft.com), or fix oauth2.token_url, and run "
	    "\"systemctl reload tlsrelayd\".",
	    true, NULL, false },
};

/* The explanation of a reply from src, or NULL when it is not known. */
const struct explanation *
explain_lookup(enum explain_source src, const char *reply, bool token_login)
{
	const struct explanation *e;
	size_t i;

	if (reply == NULL)
		return NULL;
	for (i = 0; i < nitems(explain_entries); i++) {
		e = &explain_entries[i];
		if (e->source == src && (token_login || !e->token_login) &&
		    explain_match(reply, e->match))
			return e;
	}
	return NULL;
}

/* Log one line with the meaning of a reply and what the admin should do. */
void
explain_log(const char *session_id, const char *device,
    const struct explanation *e, const char *reply)
{
	char text[EXPLAIN_REPLY_MAX];
	struct log_field f[] = {
		{ "session", session_id }, { "event", "upstream_refusal" },
		{ "device", device }, { "code", e->code },
		{ "reply", text }, { "meaning", e->meaning },
		{ "action", e->action },
	};

	log_escape(text, sizeof(text), reply, strlen(reply));
	log_event(LOG_WARNING, MSGID_UPSTREAM_REFUSAL, f, nitems(f));
}

/* The whole table and its length. */
const struct explanation *
explain_table(size_t *n)
{
	*n = nitems(explain_entries);
	return explain_entries;
}

/* The name of a source, for the catalog and the man page. */
const char *
explain_source_name(enum explain_source src)
{
	return source_names[src];
}

/* Does reply contain match, case-insensitive, as a whole code or word? */
static bool
explain_match(const char *reply, const char *match)
{
	const char *p;
	size_t len = strlen(match);

	for (p = reply; *p != '\0'; p++)
		if (strncasecmp(p, match, len) == 0 &&
		    explain_match_at(reply, p, match))
			return true;
	return false;
}

/* Is the match at at whole: "5.7.3" is not part of "5.7.30" nor of
 * "15.7.3", "AADSTS70001" not part of "AADSTS700016"? */
static bool
explain_match_at(const char *reply, const char *at, const char *match)
{
	size_t len = strlen(match);
	unsigned char before = at > reply ? (unsigned char)at[-1] : ' ';

	if (isalnum((unsigned char)match[0]) &&
	    (isalnum(before) || before == '.'))
		return false;
	return !isalnum((unsigned char)match[len - 1]) ||
	    !isalnum((unsigned char)at[len]);
}
