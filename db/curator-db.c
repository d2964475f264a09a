/* curator-db.c: being written. */
