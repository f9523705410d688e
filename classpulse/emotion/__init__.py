"""Facial-expression classification: FER2013's seven classes from aligned grayscale face crops."""
