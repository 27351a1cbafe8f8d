#include <btrfsutil.h>
