/* curator-error.c: the CURATOR_ERROR quark. */
#include "curator-error.h"

G_DEFINE_QUARK (curator-error-quark, curator_error)
