-- Fuzz fixture: a script that does not load (its name must give the load error).
error("broken on purpose")
