export interface ErrorCodeSpec {
  readonly httpStatus: number;
  readonly retriable: boolean;
  readonly summary: string;
}
