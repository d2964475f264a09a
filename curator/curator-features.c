/* curator-features.c: being written. */
