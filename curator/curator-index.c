/* curator-index.c: being written. */
