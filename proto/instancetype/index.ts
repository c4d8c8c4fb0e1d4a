// instancetype.kubevirt.io/v1beta1: instance types, preferences, the VM matchers
// that name them, and their expansion into the VM a VMI is made from.

export * from './types.js';
export { expandVM, judgeExpanded, expandAndJudge, type Expanded, type Resolved, type ResolvedTemplates } from './expand.js';
export { validateTemplateObject, supportWarnings } from './validate.js';
export { validateMatchers, validateMatcherUpdate, instancetypeKindOf, preferenceKindOf, inferMatcher, type MatcherField } from './matcher.js';
export { makeRevision, revisionName, revisionObject, sameRevision } from './revision.js';
export { guestTopology, overcommittedRequest } from './apply-instancetype.js';
export { Provenance, type Source } from './provenance.js';
