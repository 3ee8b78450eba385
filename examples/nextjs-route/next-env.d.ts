/// <reference types="next" />
// Normally written by `next dev`/`next build`; committed here so `tsc --noEmit` type-checks the
// route without a Next.js build.
