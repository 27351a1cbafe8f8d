// libarchive from Debian's libarchive-dev (scripts/setup.sh installs it):
// reads tar, pax and GNU tar, through gzip, zstd and the other filters.
#include <archive.h>
#include <archive_entry.h>
