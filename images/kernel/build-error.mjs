/** A failure with a user-facing message and a hint on how to fix it. */
export class BuildError extends Error {
  constructor(message, hint) {
    super(message);
    this.name = 'BuildError';
    this.hint = hint;
  }
}
