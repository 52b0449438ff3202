/* nitems(): the number of entries of an array, for modules below util.c. */
#ifndef TLSRELAY_NITEMS_H
#define TLSRELAY_NITEMS_H

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#endif
