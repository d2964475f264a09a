/* curator-image-png.c: being written. */
