-- Fuzz fixture: a private module, never listed as a plugin.
return {}
