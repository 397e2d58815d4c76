"""Reading whole numbers: find each digit, split touching ones, read them left to right."""
