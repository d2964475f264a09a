/* curator-cl.c: being written. */
