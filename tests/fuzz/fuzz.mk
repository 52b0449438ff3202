# The libFuzzer targets, built with clang apart from the gcc build. Run it
# through "make fuzz" in the build directory, which passes srcdir and the
# libraries' flags; tests/fuzz/run runs the targets.

FUZZ_CC ?= clang
SANITIZE = address,undefined
# The parsers get coverage instrumentation; the targets also libFuzzer's
# main. Any sanitizer report is fatal, so a finding is never missed.
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all \
	-std=gnu11 -D_GNU_SOURCE -I$(srcdir)/src -I$(srcdir)/tests/fuzz \
	$(DEP_CFLAGS)

TARGETS = smtp_command smtp_reply pop3_command pop3_reply pop3_body \
	imap_command imap_response sasl explain token_answer config \
	smtp_body proxy_header jwt_assertion
# The daemon's modules (libtlsrelay.a's sources, passed by "make fuzz"),
# instrumented; a target links only those it needs from the archive.
OBJDIR = tests/fuzz/obj
OBJS = $(MODULES:%=$(OBJDIR)/%.o)
LIB = $(OBJDIR)/libfuzz.a

all: $(TARGETS:%=tests/fuzz/fuzz_%)

$(LIB): $(OBJS)
	rm -f $@
	ar rcs $@ $(OBJS)

$(OBJDIR)/%.o: $(srcdir)/src/%.c $(wildcard $(srcdir)/src/*.h)
	@mkdir -p $(OBJDIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(SANITIZE) \
		-c -o $@ $<

tests/fuzz/fuzz_%: $(srcdir)/tests/fuzz/fuzz_%.c \
    $(srcdir)/tests/fuzz/fuzz.h $(LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(SANITIZE) \
		-o $@ $< $(LIB) $(DEP_LIBS) -pthread

.PHONY: all
.SECONDARY: $(OBJS)
