"""The MSSanté trust list (TL) and the Annuaire Santé directory with its autocomplete (DIR).
Depends on mailboxes, never the reverse."""
