/* curator-db-schema.c: being written. */
