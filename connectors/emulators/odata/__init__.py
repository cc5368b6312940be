"""OData v4 pieces both emulators share: `$filter`, system query options and multipart `$batch`.

Pure functions over text, bytes and plain dict rows; nothing here does I/O or knows which emulator calls it.
"""
