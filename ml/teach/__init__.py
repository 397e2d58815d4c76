"""Teaching from corrections: the personal dataset, fine-tuning with replay, model versions."""
