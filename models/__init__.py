"""The shipped model bundle (package data): maskgate_int8.tflite, manifest.json, labels.txt, report.md."""
