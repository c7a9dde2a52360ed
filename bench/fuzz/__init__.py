"""Long fuzz run of the anonymizer's DICOM reading: ``python -m bench.fuzz``."""
