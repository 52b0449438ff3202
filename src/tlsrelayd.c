/* tlsrelayd: options, configuration check, secret hashing, and the
 * daemon's main loop. */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"
#include "credentials.h"
#include "date.h"
#include "devices.h"
#include "log.h"
#include "secret.h"
#include "server.h"
#include "util.h"

#define EXIT_CONFIG		78	/* EX_CONFIG: the configuration is bad */
#define DEFAULT_CONFIG		SYSCONFDIR "/tlsrelay/tlsrelayd.conf"

static void	usage(void) __attribute__((noreturn));
static int	check_config(const char *path);
static void	print_device(const struct device *dev, time_t now);
static int	hash_secret(void);
static ssize_t	secret_read(char **line, size_t *cap);

static const struct option long_options[] = {
	{ "hash-secret", no_argument, NULL, 'H' },
	{ NULL, 0, NULL, 0 }
};

/* Print the usage line and exit. */
static void
usage(void)
{
	fprintf(stderr, "usage: tlsrelayd [-dfntV] [-c file]\n"
	    "       tlsrelayd -H | --hash-secret\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -d       debug logging\n"
	    "  -f       log to stderr instead of journald/syslog\n"
	    "  -H       read a device secret on stdin, print its hash for "
	    "secret_hash\n"
	    "  -t, -n   check the configuration and exit\n"
	    "  -V       print the version and exit\n", DEFAULT_CONFIG);
	exit(EXIT_CONFIG);
}

/* Print one device summary line of the check mode. */
static void
print_device(const struct device *dev, time_t now)
{
	char sunset[16];
	long left = device_days_left(dev, now);
	int p;

	date_format(dev->sunset, sunset, sizeof(sunset));
	printf("device %s: sunset %s, %s%ld days left, protocols", dev->name,
	    sunset, left < 0 ? "EXPIRED, " : "", left < 0 ? 0 : left);
	for (p = 0; p < PROTO_COUNT; p++)
		if (dev->protocols & (1u << p))
			printf(" %s", proto_name(p));
	printf(", auth %s\n", auth_mode_name(dev->auth));
}

/* Check mode: load everything, print errors or "configuration OK". */
static int
check_config(const char *path)
{
	struct config_errors errs = { 0 };
	struct config *cfg;
	time_t now = time(NULL);
	size_t i;

	cfg = server_load_config(path, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_clear(&errs);
	if (cfg == NULL) {
		fprintf(stderr, "configuration has errors\n");
		return 1;
	}
	printf("configuration OK\n");
	credentials_print(cfg, stdout, now);
	for (i = 0; i < cfg->ndevices; i++)
		print_device(&cfg->devices[i], now);
	config_unref(cfg);
	return 0;
}

/* --hash-secret: read a device secret from stdin, print its yescrypt
 * hash. */
static int
hash_secret(void)
{
	char *line = NULL, *hash = NULL;
	size_t cap = 0;
	ssize_t len;

	if ((len = secret_read(&line, &cap)) <= 0)
		fprintf(stderr, "tlsrelayd: no secret on standard input\n");
	else if ((hash = secret_hash(line)) == NULL)
		fprintf(stderr, "tlsrelayd: cannot hash the secret\n");
	else
		printf("%s\n", hash);
	if (line != NULL)
		OPENSSL_cleanse(line, cap);
	free(line);
	free(hash);
	return hash != NULL ? 0 : 1;
}

/* Read one line from stdin (after a prompt and without echo on a
 * terminal); its length without the line end, or -1. */
static ssize_t
secret_read(char **line, size_t *cap)
{
	struct termios saved, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	ssize_t len;

	setvbuf(stdin, NULL, _IONBF, 0);
	if (tty) {
		fprintf(stderr, "Secret: ");
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	len = getline(line, cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fprintf(stderr, "\n");
	}
	while (len > 0 && ((*line)[len - 1] == '\n' ||
	    (*line)[len - 1] == '\r'))
		(*line)[--len] = '\0';
	return len;
}

/* Parse options, then check the config or run the daemon. */
int
main(int argc, char *argv[])
{
	const char *path = DEFAULT_CONFIG;
	bool check = false, to_stderr = false, debug = false, hash = false;
	struct server srv;
	int ch, status;

	while ((ch = getopt_long(argc, argv, "c:dfHntV", long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 'f':
			to_stderr = true;
			break;
		case 'n':
		case 't':
			check = true;
			break;
		case 'H':
			hash = true;
			break;
		case 'V':
			printf("tlsrelayd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (hash)
		return hash_secret();
	if (check)
		return check_config(path);
	log_init(LOG_TARGET_STDERR, LOG_DAEMON, debug ? LOG_DEBUG : LOG_INFO);
	/* Relaying frees and takes back TLS and evbuffer buffers all the
	 * time: keep up to 1 MiB free at the top of the heap rather than
	 * give it back to the kernel (two brk() calls) every time. */
	mallopt(M_TRIM_THRESHOLD, 1 << 20);
	if (!server_init(&srv, path)) {
		log_warnx("tlsrelayd not started: fix the configuration in %s",
		    path);
		server_free(&srv);
		return EXIT_CONFIG;
	}
	if (!to_stderr)
		log_init(srv.env.cfg->log.target, srv.env.cfg->log.facility,
		    srv.env.cfg->log.level);
	if (debug)
		log_set_level(LOG_DEBUG);
	status = server_run(&srv);
	server_free(&srv);
	return status;
}
