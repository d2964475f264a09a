/* curator-image-facts.c: being written. */
