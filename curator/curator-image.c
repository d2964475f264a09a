/* curator-image.c: being written. */
