import { useEffect, useRef } from 'preact/hooks';
import type { ComponentChildren } from 'preact';

/** The first page of a visit keeps the browser's own focus order (skip link first). */
let navigated = false;

/** The page's h1, focused after in-app navigation so keyboard and screen-reader users land on the new page. */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (navigated) ref.current?.focus();
    navigated = true;
  }, []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}
