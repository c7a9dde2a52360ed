"""Long fuzz runs: the anonymizer's DICOM reading (``python -m bench.fuzz``) and the
contract's Go argument parsing (``python -m bench.fuzz.contract``)."""
