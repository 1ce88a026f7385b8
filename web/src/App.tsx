import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized } from './api';
import { clearKey, getKey } from './session';
import { href, useRoute, type Route } from './router';
import { SignIn } from './pages/SignIn';
import { Overview } from './pages/Overview';
import { Jobs } from './pages/Jobs';
import { JobDetail } from './pages/JobDetail';
import { Batches } from './pages/Batches';
import { BatchDetail } from './pages/BatchDetail';
import { Gallery } from './pages/Gallery';
import { Keys } from './pages/Keys';
import { Playground } from './pages/Playground';
import { PageTitle } from './components/PageTitle';

const NAV: { page: Route['page'][]; label: string; to: string }[] = [
  { page: ['overview'], label: 'Overview', to: href.overview },
  { page: ['jobs', 'job'], label: 'Jobs', to: href.jobs },
  { page: ['batches', 'batch'], label: 'Batches', to: href.batches },
  { page: ['gallery'], label: 'Gallery', to: href.gallery() },
  { page: ['playground'], label: 'Playground', to: href.playground },
  { page: ['keys'], label: 'API keys', to: href.keys },
];

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <Overview />;
    case 'jobs':
      return <Jobs />;
    case 'job':
      return <JobDetail key={route.id} id={route.id} />;
    case 'batches':
      return <Batches />;
    case 'batch':
      return <BatchDetail key={route.id} id={route.id} />;
    case 'gallery':
      return <Gallery key={route.id ?? ''} id={route.id} />;
    case 'keys':
      return <Keys />;
    case 'playground':
      return <Playground />;
    default:
      return <PageTitle>Page not found</PageTitle>;
  }
}

export function App() {
  const [signedIn, setSignedIn] = useState(() => getKey() != null);
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();

  // Any 401 (this key was revoked, here or elsewhere) ends the session.
  useEffect(
    () =>
      onUnauthorized((e) => {
        clearKey();
        setNotice(`Signed out: ${e.message}`);
        setSignedIn(false);
      }),
    [],
  );

  if (!signedIn) return <SignIn notice={notice} onSignedIn={() => (setNotice(null), setSignedIn(true))} />;

  const signOut = () => {
    clearKey();
    setNotice('Signed out.');
    setSignedIn(false);
  };

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Easel</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.to}>
                <a href={n.to} aria-current={n.page.includes(route.page) ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}
