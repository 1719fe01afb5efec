// localStorage that degrades to "nothing remembered" where storage is disabled
// (private windows, sandboxed frames) instead of breaking the page.

export function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Remember `value` under `key`; an empty value forgets it. */
export function store(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    /* not remembered: the page still works for this visit */
  }
}
