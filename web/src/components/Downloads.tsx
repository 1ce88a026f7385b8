import type { Formats } from '../types';
import { bytes } from '../format';

/** Download links for each format of one image (signed URLs, valid until they expire). */
export function Downloads({ formats, label }: { formats: Formats; label: string }) {
  return (
    <ul class="downloads" aria-label={`Downloads for ${label}`}>
      {(['png', 'jpeg', 'webp'] as const).map((f) => (
        <li key={f}>
          <a href={formats[f].url} download rel="noopener noreferrer">
            {f.toUpperCase()} <span class="muted">({bytes(formats[f].size_bytes)})</span>
          </a>
        </li>
      ))}
    </ul>
  );
}
