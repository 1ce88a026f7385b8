/**
 * The built-in, rule-based prompt checker's rules. It is deliberately conservative and easy to
 * audit; deployments that need a real classifier plug one in behind the Moderator port.
 *
 * `legal` rules apply in every strictness (zero-tolerance categories of the acceptable-use policy);
 * `brand` rules apply only in `normal` (brand-safe) strictness.
 */
export interface Rule {
  category: string;
  scope: 'legal' | 'brand';
  /** Every group must match somewhere in the prompt (a conjunction of alternatives). */
  all: RegExp[];
}

const w = (alts: string) => new RegExp(`\\b(?:${alts})\\b`);

const MINOR = 'child|children|kid|kids|minor|minors|underage|under-age|preteen|pre-teen|toddler|infant|schoolgirl|schoolboy|little girl|little boy|loli|lolita|shota|[0-9]\\s*(?:yo|year old|years old)|1[0-7]\\s*(?:yo|year old|years old)';
const SEXUAL = 'nude|naked|nudity|sex|sexual|sexualised|sexualized|erotic|porn|porno|pornographic|explicit|lingerie|topless|undressed|genitals|intercourse|nsfw|seductive';

export const RULES: Rule[] = [
  { category: 'sexual_minors', scope: 'legal', all: [w(MINOR), w(SEXUAL)] },
  { category: 'sexual_minors', scope: 'legal', all: [w('csam|child sexual abuse|cp porn|jailbait')] },
  { category: 'non_consensual_intimate', scope: 'legal', all: [w('deepfake|deep fake|face swap|faceswap|real person|celebrity'), w('nude|naked|porn|sex|sexual|explicit|undressed|topless')] },
  { category: 'terrorism', scope: 'legal', all: [w('isis|al qaeda|al-qaeda|daesh|jihadi|terrorist'), w('propaganda|recruitment|recruit|beheading|execution video|attack plan|bomb making')] },
  { category: 'weapons_of_mass_harm', scope: 'legal', all: [w('how to make|instructions for|recipe for|build a|synthesize|synthesise'), w('bomb|nerve agent|sarin|bioweapon|chemical weapon|pipe bomb')] },

  { category: 'sexual', scope: 'brand', all: [w(SEXUAL + '|boobs|breasts|penis|vagina|orgasm|fetish|bdsm|hentai')] },
  { category: 'graphic_violence', scope: 'brand', all: [w('gore|gory|dismember|dismembered|decapitated|decapitation|beheaded|mutilated|mutilation|disembowel|disemboweled|entrails|torture|tortured|massacre')] },
  { category: 'hate', scope: 'brand', all: [w('swastika|nazi|kkk|ku klux klan|white power|white supremacy|genocide denial|holocaust denial|ethnic cleansing')] },
  { category: 'self_harm', scope: 'brand', all: [w('self harm|self-harm|suicide|cutting herself|cutting himself|slit wrists|slit her wrists|slit his wrists')] },
  { category: 'drugs', scope: 'brand', all: [w('cook meth|meth lab|crack pipe|heroin injection|shooting up heroin')] },
];
