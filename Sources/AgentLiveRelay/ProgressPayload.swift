/// TaskProgressPayload, with the issue it belongs to.
struct ProgressPayload: Encodable {
    var taskID: String
    var issueID: String
    var summary: String?
    var step: Int?
    var total: Int?

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", issueID = "issue_id", summary, step, total
    }
}
