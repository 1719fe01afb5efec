// Defaults for this page. "" means the server that served the page.
// `plasticvision web --server URL` serves its own version of this file.
export const defaultServer = "";
