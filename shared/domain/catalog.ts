/**
 * The category catalog (policy layer 1): what kinds of governed data exist, where
 * they live, what starts their retention clock, what they cascade to and in which
 * deletion stage they go. DESIGN.md §2.
 */

export const CATEGORIES = [
  'call_recording',
  'inbound_media',
  'outbound_media',
  'email_attachment',
  'third_party_call_data',
  'webhook_delivery',
  'call',
  'whatsapp_conversation',
  'conversation',
  'message',
  'communication_log',
  'analytics_event',
  'form_submission',
  'web_session',
  'customer_profile',
  'user',
  'admin_activity_log',
  'account_config',
] as const;

export type Category = (typeof CATEGORIES)[number];

/** Deletion stages, run in this order inside a tenant run. */
export const STAGES = [1, 2, 3, 4] as const;
export type Stage = (typeof STAGES)[number];

export const STAGE_NAMES: Readonly<Record<Stage, string>> = {
  1: 'blobs',
  2: 'external',
  3: 'records',
  4: 'subjects',
};

/** Logical bucket names; adapters map them to physical bucket names. */
export type BucketName = 'recordings' | 'media' | 'exports';

export type CategoryStore =
  | { readonly kind: 'blob'; readonly bucket: BucketName; readonly prefix: string }
  | { readonly kind: 'external' }
  | { readonly kind: 'record' };

/** Which fact of the record starts its retention clock. */
export type ClockStart =
  | 'call_start'
  | 'communication_date'
  | 'conversation_start'
  | 'delivery_time'
  | 'last_customer_contact'
  | 'last_sign_in'
  | 'event_time'
  | 'submission_time'
  | 'session_start'
  | 'contract_end_or_inactivity';

export interface CategoryDefinition {
  readonly category: Category;
  readonly description: string;
  readonly store: CategoryStore;
  readonly clockStartsAt: ClockStart;
  /** The category whose record owns this one (deleted only after this one is gone). */
  readonly parent: Category | null;
  /** Categories deleted together with (and before) a record of this category. */
  readonly cascadesTo: readonly Category[];
  readonly stage: Stage;
  /** Whether the category holds personal data (subject to the platform's personal-data cap). */
  readonly personalData: boolean;
}

const define = (d: CategoryDefinition): CategoryDefinition => d;

export const CATALOG: Readonly<Record<Category, CategoryDefinition>> = {
  call_recording: define({
    category: 'call_recording',
    description: 'Call recordings, including voicemail',
    store: { kind: 'blob', bucket: 'recordings', prefix: 'recordings' },
    clockStartsAt: 'call_start',
    parent: 'call',
    cascadesTo: [],
    stage: 1,
    personalData: true,
  }),
  inbound_media: define({
    category: 'inbound_media',
    description: 'Inbound OTT media: images, audio, files',
    store: { kind: 'blob', bucket: 'media', prefix: 'inbound' },
    clockStartsAt: 'communication_date',
    parent: 'conversation',
    cascadesTo: [],
    stage: 1,
    personalData: true,
  }),
  outbound_media: define({
    category: 'outbound_media',
    description: 'Outbound media, kept with its conversation up to a hard cap',
    store: { kind: 'blob', bucket: 'media', prefix: 'outbound' },
    clockStartsAt: 'conversation_start',
    parent: 'conversation',
    cascadesTo: [],
    stage: 1,
    personalData: true,
  }),
  email_attachment: define({
    category: 'email_attachment',
    description: 'E-mail attachments and inline images',
    store: { kind: 'blob', bucket: 'media', prefix: 'email' },
    clockStartsAt: 'communication_date',
    parent: 'conversation',
    cascadesTo: [],
    stage: 1,
    personalData: true,
  }),
  third_party_call_data: define({
    category: 'third_party_call_data',
    description: 'Call data held by an external provider, deleted over HTTP',
    store: { kind: 'external' },
    clockStartsAt: 'call_start',
    parent: 'call',
    cascadesTo: [],
    stage: 2,
    personalData: true,
  }),
  webhook_delivery: define({
    category: 'webhook_delivery',
    description: 'Webhook delivery records',
    store: { kind: 'record' },
    clockStartsAt: 'delivery_time',
    parent: null,
    cascadesTo: [],
    stage: 3,
    personalData: false,
  }),
  call: define({
    category: 'call',
    description: 'Call records',
    store: { kind: 'record' },
    clockStartsAt: 'call_start',
    parent: 'customer_profile',
    cascadesTo: ['call_recording', 'third_party_call_data'],
    stage: 3,
    personalData: true,
  }),
  whatsapp_conversation: define({
    category: 'whatsapp_conversation',
    description: 'WhatsApp conversations (a conversation channel)',
    store: { kind: 'record' },
    clockStartsAt: 'conversation_start',
    parent: 'customer_profile',
    cascadesTo: ['message', 'communication_log', 'inbound_media', 'outbound_media', 'email_attachment'],
    stage: 3,
    personalData: true,
  }),
  conversation: define({
    category: 'conversation',
    description: 'Conversations, including notes and transcripts',
    store: { kind: 'record' },
    clockStartsAt: 'conversation_start',
    parent: 'customer_profile',
    cascadesTo: ['message', 'communication_log', 'inbound_media', 'outbound_media', 'email_attachment'],
    stage: 3,
    personalData: true,
  }),
  message: define({
    category: 'message',
    description: 'Messages, kept with their conversation',
    store: { kind: 'record' },
    clockStartsAt: 'conversation_start',
    parent: 'conversation',
    cascadesTo: ['email_attachment'],
    stage: 3,
    personalData: true,
  }),
  communication_log: define({
    category: 'communication_log',
    description: 'Communication logs and reports that carry text',
    store: { kind: 'record' },
    clockStartsAt: 'conversation_start',
    parent: 'conversation',
    cascadesTo: [],
    stage: 3,
    personalData: true,
  }),
  analytics_event: define({
    category: 'analytics_event',
    description: 'Raw analytics events (aggregated anonymous counters are kept)',
    store: { kind: 'record' },
    clockStartsAt: 'communication_date',
    parent: null,
    cascadesTo: [],
    stage: 3,
    personalData: true,
  }),
  form_submission: define({
    category: 'form_submission',
    description: 'Web form submissions (a communication record)',
    store: { kind: 'record' },
    clockStartsAt: 'submission_time',
    parent: 'customer_profile',
    cascadesTo: [],
    stage: 3,
    personalData: true,
  }),
  web_session: define({
    category: 'web_session',
    description: 'Web visitor sessions (a communication record)',
    store: { kind: 'record' },
    clockStartsAt: 'session_start',
    parent: 'customer_profile',
    cascadesTo: [],
    stage: 3,
    personalData: true,
  }),
  customer_profile: define({
    category: 'customer_profile',
    description: 'End-customer profiles with their identifiers',
    store: { kind: 'record' },
    clockStartsAt: 'last_customer_contact',
    parent: null,
    cascadesTo: ['call', 'conversation', 'whatsapp_conversation', 'analytics_event', 'form_submission', 'web_session'],
    stage: 4,
    personalData: true,
  }),
  user: define({
    category: 'user',
    description: 'Agent and admin users',
    store: { kind: 'record' },
    clockStartsAt: 'last_sign_in',
    parent: null,
    cascadesTo: [],
    stage: 4,
    personalData: true,
  }),
  admin_activity_log: define({
    category: 'admin_activity_log',
    description: 'Admin activity logs',
    store: { kind: 'record' },
    clockStartsAt: 'event_time',
    parent: null,
    cascadesTo: [],
    stage: 3,
    personalData: true,
  }),
  account_config: define({
    category: 'account_config',
    description: 'Account configuration: queues, routing, workflows, forms',
    store: { kind: 'record' },
    clockStartsAt: 'contract_end_or_inactivity',
    parent: null,
    cascadesTo: [],
    stage: 4,
    personalData: false,
  }),
};

/**
 * Categories in the order a tenant run processes them: by stage, and inside a
 * stage children before parents (so a parent is examined only after its
 * children had their turn).
 */
export const SWEEP_ORDER: readonly Category[] = [
  // stage 1: blobs
  'call_recording',
  'inbound_media',
  'outbound_media',
  'email_attachment',
  // stage 2: external
  'third_party_call_data',
  // stage 3: records, children first
  'message',
  'communication_log',
  'analytics_event',
  'webhook_delivery',
  'admin_activity_log',
  'form_submission',
  'web_session',
  'call',
  'whatsapp_conversation',
  'conversation',
  // stage 4: subjects
  'user',
  'account_config',
  'customer_profile',
];

export function categoriesInStage(stage: Stage): Category[] {
  return SWEEP_ORDER.filter((c) => CATALOG[c].stage === stage);
}

export function isCategory(value: unknown): value is Category {
  return typeof value === 'string' && (CATEGORIES as readonly string[]).includes(value);
}

/**
 * Categories whose records own a key prefix in a customer's partition: the
 * records under one (messages, logs, media, attachments, recordings,
 * third-party data) go with it.
 */
export const CONTAINERS: readonly Category[] = ['conversation', 'whatsapp_conversation', 'call'];

/** The categories that live under a container's key and go with it (the container's cascade). */
export function containerChildren(category: Category): readonly Category[] {
  return CONTAINERS.includes(category) ? CATALOG[category].cascadesTo : [];
}

/** Every category a customer's partition can hold besides the profile: the profile's cascade, transitively. */
export const PROFILE_DESCENDANTS: readonly Category[] = (() => {
  const out = new Set<Category>();
  const visit = (c: Category) => {
    for (const child of CATALOG[c].cascadesTo) {
      if (!out.has(child)) {
        out.add(child);
        visit(child);
      }
    }
  };
  visit('customer_profile');
  return [...out];
})();
