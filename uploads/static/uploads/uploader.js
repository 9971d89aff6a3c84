// @ts-check
// The uploader page's script (uploads/uploader.html and the MediaFile admin's Add page load it).

import { startUploaderPage } from "./page/main.js";

startUploaderPage(window);
