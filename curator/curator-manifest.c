/* curator-manifest.c: being written. */
