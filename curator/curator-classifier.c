/* curator-classifier.c: being written. */
