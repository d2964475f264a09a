/* curator-image-jpeg.c: being written. */
